set terminal pngcairo size 900,560 font ',11' noenhanced
set datafile separator whitespace
set grid
set key outside right
set xlabel 'epoch'
set output 'training_accuracy.png.tmp-6380-plot'
set ylabel 'training accuracy (%)'
set title 'Training accuracy per epoch'
plot 'plots.dat' index 0 using 1:2 with linespoints title 'control', 'plots.dat' index 1 using 1:2 with linespoints title 'large_batch', 'plots.dat' index 2 using 1:2 with linespoints title 'lr_decay', 'plots.dat' index 3 using 1:2 with linespoints title 'batch_norm', 'plots.dat' index 4 using 1:2 with linespoints title 'no_preprocessing'
set output 'training_loss.png.tmp-6380-plot'
set ylabel 'total loss (sum of batch means)'
set logscale y
set title 'Training loss per epoch'
plot 'plots.dat' index 0 using 1:3 with linespoints title 'control', 'plots.dat' index 1 using 1:3 with linespoints title 'large_batch', 'plots.dat' index 2 using 1:3 with linespoints title 'lr_decay', 'plots.dat' index 3 using 1:3 with linespoints title 'batch_norm', 'plots.dat' index 4 using 1:3 with linespoints title 'no_preprocessing'
unset logscale y
set output 'test_accuracy.png.tmp-6380-plot'
set title 'Test accuracy per run'
set ylabel 'test accuracy (%)'
unset xlabel
set yrange [0:100]
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set xtics rotate by -20
plot 'plots.dat' index 5 using 2:xtic(1) title 'minidl', '' index 5 using 3 title "study (reported)"
set output
