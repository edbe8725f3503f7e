set terminal pngcairo size 900,560 font ',11' noenhanced
set datafile separator whitespace
set grid
set key outside right
set xlabel 'epoch'
set style fill transparent solid 0.2 noborder
set output 'training_accuracy.png.tmp-30661-plot'
set ylabel 'training accuracy (%)'
set title 'Training accuracy per epoch'
plot 'plots.dat' index 0 using 1:($2-$3):($2+$3) with filledcurves lc 1 notitle, '' index 0 using 1:2 with linespoints lc 1 title 'control', 'plots.dat' index 1 using 1:($2-$3):($2+$3) with filledcurves lc 2 notitle, '' index 1 using 1:2 with linespoints lc 2 title 'large_batch', 'plots.dat' index 2 using 1:($2-$3):($2+$3) with filledcurves lc 3 notitle, '' index 2 using 1:2 with linespoints lc 3 title 'lr_decay', 'plots.dat' index 3 using 1:($2-$3):($2+$3) with filledcurves lc 4 notitle, '' index 3 using 1:2 with linespoints lc 4 title 'batch_norm', 'plots.dat' index 4 using 1:($2-$3):($2+$3) with filledcurves lc 5 notitle, '' index 4 using 1:2 with linespoints lc 5 title 'no_preprocessing'
set output 'training_loss.png.tmp-30661-plot'
set ylabel 'total loss (sum of batch means)'
set logscale y
set title 'Training loss per epoch'
plot 'plots.dat' index 0 using 1:($4-$5 > $4/100 ? $4-$5 : $4/100):($4+$5) with filledcurves lc 1 notitle, '' index 0 using 1:4 with linespoints lc 1 title 'control', 'plots.dat' index 1 using 1:($4-$5 > $4/100 ? $4-$5 : $4/100):($4+$5) with filledcurves lc 2 notitle, '' index 1 using 1:4 with linespoints lc 2 title 'large_batch', 'plots.dat' index 2 using 1:($4-$5 > $4/100 ? $4-$5 : $4/100):($4+$5) with filledcurves lc 3 notitle, '' index 2 using 1:4 with linespoints lc 3 title 'lr_decay', 'plots.dat' index 3 using 1:($4-$5 > $4/100 ? $4-$5 : $4/100):($4+$5) with filledcurves lc 4 notitle, '' index 3 using 1:4 with linespoints lc 4 title 'batch_norm', 'plots.dat' index 4 using 1:($4-$5 > $4/100 ? $4-$5 : $4/100):($4+$5) with filledcurves lc 5 notitle, '' index 4 using 1:4 with linespoints lc 5 title 'no_preprocessing'
unset logscale y
set output 'test_accuracy.png.tmp-30661-plot'
set title 'Test accuracy per run'
set ylabel 'test accuracy (%)'
unset xlabel
set yrange [0:100]
set style data histograms
set style histogram errorbars gap 1 lw 1
set style fill solid 0.8 border -1
set xtics rotate by -20
plot 'plots.dat' index 5 using 2:3:xtic(1) title 'minidl (mean, ± sd)', '' index 5 using 4:(0) title "study (reported)"
set output 'per_class_accuracy.png.tmp-30661-plot'
set title 'Test accuracy per class (eval mode)'
set style histogram clustered gap 1
set xtics rotate by -30
plot 'plots.dat' index 11 using 2:xtic(1) title 'control', 'plots.dat' index 11 using 3 title 'large_batch', 'plots.dat' index 11 using 4 title 'lr_decay', 'plots.dat' index 11 using 5 title 'batch_norm', 'plots.dat' index 11 using 6 title 'no_preprocessing'
set xrange [-0.5:9.5]
set yrange [9.5:-0.5]
set size ratio -1
unset grid
set key off
set palette defined (0 '#ffffff', 1 '#2a5caa')
set cbrange [0:*]
set xlabel 'predicted class'
set ylabel 'true class'
set xtics rotate by -45 ('airplane' 0, 'automobile' 1, 'bird' 2, 'cat' 3, 'deer' 4, 'dog' 5, 'frog' 6, 'horse' 7, 'ship' 8, 'truck' 9)
set ytics ('airplane' 0, 'automobile' 1, 'bird' 2, 'cat' 3, 'deer' 4, 'dog' 5, 'frog' 6, 'horse' 7, 'ship' 8, 'truck' 9)
set output 'confusion_control.png.tmp-30661-plot'
set title 'control: confusion matrix on the test set (eval mode)'
plot 'plots.dat' index 6 using 1:2:3 with image, '' index 6 using 1:2:(sprintf('%d', $3)) with labels font ',8'
set output 'confusion_large_batch.png.tmp-30661-plot'
set title 'large_batch: confusion matrix on the test set (eval mode)'
plot 'plots.dat' index 7 using 1:2:3 with image, '' index 7 using 1:2:(sprintf('%d', $3)) with labels font ',8'
set output 'confusion_lr_decay.png.tmp-30661-plot'
set title 'lr_decay: confusion matrix on the test set (eval mode)'
plot 'plots.dat' index 8 using 1:2:3 with image, '' index 8 using 1:2:(sprintf('%d', $3)) with labels font ',8'
set output 'confusion_batch_norm.png.tmp-30661-plot'
set title 'batch_norm: confusion matrix on the test set (eval mode)'
plot 'plots.dat' index 9 using 1:2:3 with image, '' index 9 using 1:2:(sprintf('%d', $3)) with labels font ',8'
set output 'confusion_no_preprocessing.png.tmp-30661-plot'
set title 'no_preprocessing: confusion matrix on the test set (eval mode)'
plot 'plots.dat' index 10 using 1:2:3 with image, '' index 10 using 1:2:(sprintf('%d', $3)) with labels font ',8'
set output
