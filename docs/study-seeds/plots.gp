set terminal pngcairo size 900,560 font ',11' noenhanced
set datafile separator whitespace
set grid
set key outside right
set xlabel 'epoch'
set style fill transparent solid 0.2 noborder
set output 'training_accuracy.png.tmp-25330-plot'
set ylabel 'training accuracy (%)'
set title 'Training accuracy per epoch'
plot 'plots.dat' index 0 using 1:($2-$3):($2+$3) with filledcurves lc 1 notitle, '' index 0 using 1:2 with linespoints lc 1 title 'control', 'plots.dat' index 1 using 1:($2-$3):($2+$3) with filledcurves lc 2 notitle, '' index 1 using 1:2 with linespoints lc 2 title 'large_batch', 'plots.dat' index 2 using 1:($2-$3):($2+$3) with filledcurves lc 3 notitle, '' index 2 using 1:2 with linespoints lc 3 title 'lr_decay', 'plots.dat' index 3 using 1:($2-$3):($2+$3) with filledcurves lc 4 notitle, '' index 3 using 1:2 with linespoints lc 4 title 'batch_norm', 'plots.dat' index 4 using 1:($2-$3):($2+$3) with filledcurves lc 5 notitle, '' index 4 using 1:2 with linespoints lc 5 title 'no_preprocessing'
set output 'training_loss.png.tmp-25330-plot'
set ylabel 'total loss (sum of batch means)'
set logscale y
set title 'Training loss per epoch'
plot 'plots.dat' index 0 using 1:($4-$5 > $4/100 ? $4-$5 : $4/100):($4+$5) with filledcurves lc 1 notitle, '' index 0 using 1:4 with linespoints lc 1 title 'control', 'plots.dat' index 1 using 1:($4-$5 > $4/100 ? $4-$5 : $4/100):($4+$5) with filledcurves lc 2 notitle, '' index 1 using 1:4 with linespoints lc 2 title 'large_batch', 'plots.dat' index 2 using 1:($4-$5 > $4/100 ? $4-$5 : $4/100):($4+$5) with filledcurves lc 3 notitle, '' index 2 using 1:4 with linespoints lc 3 title 'lr_decay', 'plots.dat' index 3 using 1:($4-$5 > $4/100 ? $4-$5 : $4/100):($4+$5) with filledcurves lc 4 notitle, '' index 3 using 1:4 with linespoints lc 4 title 'batch_norm', 'plots.dat' index 4 using 1:($4-$5 > $4/100 ? $4-$5 : $4/100):($4+$5) with filledcurves lc 5 notitle, '' index 4 using 1:4 with linespoints lc 5 title 'no_preprocessing'
unset logscale y
set output 'test_accuracy.png.tmp-25330-plot'
set title 'Test accuracy per run'
set ylabel 'test accuracy (%)'
unset xlabel
set yrange [0:100]
set style data histograms
set style histogram errorbars gap 1 lw 1
set style fill solid 0.8 border -1
set xtics rotate by -20
plot 'plots.dat' index 5 using 2:3:xtic(1) title 'minidl (mean, ± sd)', '' index 5 using 4:(0) title "study (reported)"
set output
